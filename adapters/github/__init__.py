"""GitHub Issues as a tracker: issues are backlog items, repository milestones are milestones."""
