"""Dermatologist referral: a directory, consultation requests, and the shareable PDF report."""
