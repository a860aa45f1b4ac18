"""Entry point of `python -m riskmodel.scale` (see `riskmodel.scale.cli`)."""

from riskmodel.scale.cli import main

raise SystemExit(main())
