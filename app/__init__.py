"""Clinic SMS service: reminders, confirmations and two-way SMS for dental clinics."""

__version__ = "0.1.0"
