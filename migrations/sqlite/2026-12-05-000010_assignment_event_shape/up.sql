-- Assignment events in one shape: note = the new owner's name, data = {"from": id|null, "to": id|null}.
-- The API used to keep owner names in from_state/to_state (its data already had "from"/"to").
UPDATE case_events
   SET note = to_state, from_state = NULL, to_state = NULL
 WHERE kind = 'assigned' AND (from_state IS NOT NULL OR to_state IS NOT NULL);
-- Pages and imports kept {"assignee_id": n}.
UPDATE case_events
   SET data = json_object('from', NULL, 'to', json_extract(data, '$.assignee_id'))
 WHERE kind = 'assigned' AND json_valid(data) AND json_type(data, '$.assignee_id') IS NOT NULL;
-- The previous owner is the one the case's previous assignment named.
UPDATE case_events
   SET data = json_set(data, '$.from', (
         SELECT json_extract(p.data, '$.to') FROM case_events p
          WHERE p.case_id = case_events.case_id AND p.kind = 'assigned' AND p.id < case_events.id
          ORDER BY p.id DESC LIMIT 1))
 WHERE kind = 'assigned' AND json_valid(data) AND json_type(data, '$.from') = 'null';
