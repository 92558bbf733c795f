"""Jiandaoyun (简道云) as a CRM: feedback form in, backlog links and follow-up entries out."""
