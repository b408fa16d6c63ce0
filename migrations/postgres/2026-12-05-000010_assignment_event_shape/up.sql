-- Assignment events in one shape: note = the new owner's name, data = {"from": id|null, "to": id|null}.
-- The API used to keep owner names in from_state/to_state (its data already had "from"/"to").
UPDATE case_events
   SET note = to_state, from_state = NULL, to_state = NULL
 WHERE kind = 'assigned' AND (from_state IS NOT NULL OR to_state IS NOT NULL);
-- Pages and imports kept {"assignee_id": n}.
UPDATE case_events
   SET data = jsonb_build_object('from', NULL, 'to', data::jsonb -> 'assignee_id')::text
 -- (CASE: the cast is only ever evaluated on assignment events.)
 WHERE CASE WHEN kind = 'assigned' AND data IS NOT NULL THEN data::jsonb ? 'assignee_id' ELSE false END;
-- The previous owner is the one the case's previous assignment named.
UPDATE case_events e
   SET data = jsonb_set(e.data::jsonb, '{from}', COALESCE((
         SELECT p.data::jsonb -> 'to' FROM case_events p
          WHERE p.case_id = e.case_id AND p.kind = 'assigned' AND p.id < e.id
          ORDER BY p.id DESC LIMIT 1), 'null'::jsonb))::text
 WHERE CASE WHEN e.kind = 'assigned' AND e.data IS NOT NULL
            THEN e.data::jsonb -> 'from' = 'null'::jsonb ELSE false END;
