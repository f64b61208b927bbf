"""Triggers: turning change records into invocations under Lambda's delivery rules."""
