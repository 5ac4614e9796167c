"""Issuing in bulk: many results of one achievement in one request (JSON or CSV) or one command."""
