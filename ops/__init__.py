"""finesse-ops: automation for Cisco Finesse and other VOS appliances."""

__version__ = "0.1.0"
