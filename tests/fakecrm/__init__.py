"""Fake CRM servers (Salesforce over TLS) that the real client libraries talk to in tests."""
