"""The pilots admin, one module per part; importing them registers the model admins."""

from pilots.admin import feedback, programme, rewards

__all__ = ["feedback", "programme", "rewards"]
