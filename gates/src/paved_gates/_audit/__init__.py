"""`gates audit`: the platform team's view of template drift across a fleet of services."""
