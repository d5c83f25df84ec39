"""What tests at every level share: the sample events, their mutations, and the stack's fakes."""
