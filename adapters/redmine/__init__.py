"""Redmine as a tracker: issues with a marker custom field, versions as milestones."""
