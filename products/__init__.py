"""What the users receive: the BO report, the supplier list (``leverancierslijst``) and the province page."""
