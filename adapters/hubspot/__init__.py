"""HubSpot CRM: tickets as feedback, companies and owners as accounts."""
