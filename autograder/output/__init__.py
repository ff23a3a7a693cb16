"""What the grader hands back to people once grades are recorded: the CSV
export and the HTML report. They read the gradebook and autograder.json;
they never grade."""
