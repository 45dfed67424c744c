"""Items: the example feature, showing every pattern of a feature end to end."""
