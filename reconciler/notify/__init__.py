"""Notifications: events people act on, sent to webhooks and Apprise URLs (docs/notifications.md)."""
