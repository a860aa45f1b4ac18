"""The seeded synthetic world: drivers in four domains, a documented truth, and identified
cases thinned by inspection coverage. See `riskmodel.world.generate.make_world`."""

from riskmodel.world.generate import SYNTHETIC_NOTE, make_world

__all__ = ["SYNTHETIC_NOTE", "make_world"]
