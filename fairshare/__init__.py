"""fairshare: the regional monitor for housing aandachtsgroepen, for any region with a pack in regions/."""
