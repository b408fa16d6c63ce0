-- The old shapes carried nothing the new one lacks; there is nothing to undo.
SELECT 1;
