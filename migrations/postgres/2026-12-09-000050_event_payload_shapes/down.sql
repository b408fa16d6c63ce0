-- Earlier versions never read the data of these kinds back; there is nothing to undo.
SELECT 1;
