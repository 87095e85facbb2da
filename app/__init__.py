"""Qianmo (阡陌): community policing and grassroots governance."""
