"""The command-post dashboard (Plotly Dash): the wall display and the commander's view."""
