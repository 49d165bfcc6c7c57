"""Pictures and tables of finished runs and sweeps."""
