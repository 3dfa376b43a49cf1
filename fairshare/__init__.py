"""fairshare: the regional monitor for housing aandachtsgroepen (Regio Amersfoort)."""
