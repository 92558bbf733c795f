"""syncer: customer feedback in the CRM becomes backlog items in the tracker, and milestones come back."""
