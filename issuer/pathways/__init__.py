"""Pathways: an achievement awarded for a set of other achievements (all of them, n of them,
nested groups), issued when a pass completes it and kept in step with its components.

`components(session, achievement_id)` lists the achievement ids a pathway names (CLR
`associations` use it); `Pathways` (services.py) defines, awards and reconciles.
"""

from issuer.pathways.services import Award, Pathways, components

__all__ = ["Award", "Pathways", "components"]
