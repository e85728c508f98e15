"""Tests of connector.adapters against fake CRM servers."""
