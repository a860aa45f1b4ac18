"""The partner portal (`riskmodel serve`): a token-scoped web API and map page over the
alert store. Needs the `portal` extra (Starlette, uvicorn); see docs/portal.md."""
