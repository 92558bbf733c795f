"""Salesforce CRM adapter: Cases in, backlog links and owner Tasks out."""
