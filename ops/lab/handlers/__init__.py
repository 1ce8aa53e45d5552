"""Command handler modules of the lab appliance; every module here is imported at start-up."""
