"""physdis-hub."""
