"""Jira Cloud: issues as backlog items, fix versions as milestones."""
