-- One data shape per event kind (src/workflow/events.rs). Three kinds had two.

-- transition: imported history kept only {"imported": true}; live transitions keep the action and
-- its texts. The importer's note is the step's one text, and its target state names the action.
UPDATE case_events
   SET data = json_set(
         json_object(
           'action', CASE to_state WHEN 'defined' THEN 'define' WHEN 'scoped' THEN 'scope'
                     WHEN 'escalated' THEN 'escalate' WHEN 'resolved' THEN 'resolve'
                     ELSE 'archive' END,
           'imported', json('true')),
         '$.' || CASE to_state WHEN 'defined' THEN 'definition' WHEN 'scoped' THEN 'scope'
                 WHEN 'escalated' THEN 'reason' WHEN 'resolved' THEN 'resolution'
                 ELSE 'summary' END,
         note)
 WHERE kind = 'transition' AND json_valid(data) AND json_type(data, '$.action') IS NULL
   AND json_extract(data, '$.imported') = 1
   AND to_state IN ('defined', 'scoped', 'escalated', 'resolved', 'archived');

-- delivery_failed: bounces kept {"original_message_ids": [...], "reason": r}, the outbox giving up
-- {"outbox_id": n, "message_id": m} with the reason only in the note ("<recipients> — <reason>").
-- One shape: {"message_ids": [...], "reason": r, "outbox_id": n | null}.
UPDATE case_events
   SET data = json_object(
         'message_ids', json(json_extract(data, '$.original_message_ids')),
         'reason', COALESCE(json_extract(data, '$.reason'), ''),
         'outbox_id', NULL)
 WHERE kind = 'delivery_failed' AND json_valid(data)
   AND json_type(data, '$.original_message_ids') = 'array';
UPDATE case_events
   SET data = json_object(
         'message_ids', json_array(json_extract(data, '$.message_id')),
         'reason', CASE WHEN instr(note, ' — ') > 0 THEN substr(note, instr(note, ' — ') + 3)
                   ELSE COALESCE(note, '') END,
         'outbox_id', json_extract(data, '$.outbox_id'))
 WHERE kind = 'delivery_failed' AND json_valid(data)
   AND json_type(data, '$.outbox_id') = 'integer' AND json_type(data, '$.message_ids') IS NULL;

-- merged: the merged-away case kept {"into", "messages_moved", "clocks_stopped"}, the target
-- {"from", "messages_moved"}. Both now keep the whole merge:
-- {"source", "target", "messages_moved", "clocks_stopped"}. The target's side first, while the
-- source's event still says how many clocks it stopped.
UPDATE case_events
   SET data = json_object(
         'source', json_extract(data, '$.from'),
         'target', (SELECT c.number FROM cases c WHERE c.id = case_events.case_id),
         'messages_moved', COALESCE(json_extract(data, '$.messages_moved'), 0),
         'clocks_stopped', COALESCE((
           SELECT json_extract(s.data, '$.clocks_stopped')
             FROM case_events s JOIN cases c ON c.id = s.case_id
            WHERE c.number = json_extract(case_events.data, '$.from') AND s.kind = 'merged'
              AND json_valid(s.data) AND json_type(s.data, '$.into') = 'text'
            ORDER BY s.id DESC LIMIT 1), 0))
 WHERE kind = 'merged' AND json_valid(data) AND json_type(data, '$.from') = 'text';
UPDATE case_events
   SET data = json_object(
         'source', (SELECT c.number FROM cases c WHERE c.id = case_events.case_id),
         'target', json_extract(data, '$.into'),
         'messages_moved', COALESCE(json_extract(data, '$.messages_moved'), 0),
         'clocks_stopped', COALESCE(json_extract(data, '$.clocks_stopped'), 0))
 WHERE kind = 'merged' AND json_valid(data) AND json_type(data, '$.into') = 'text';
