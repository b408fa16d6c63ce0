-- One data shape per event kind (src/workflow/events.rs). Three kinds had two.
-- (Each CASE makes sure the jsonb cast is only evaluated on rows of the kind being rewritten.)

-- transition: imported history kept only {"imported": true}; live transitions keep the action and
-- its texts. The importer's note is the step's one text, and its target state names the action.
UPDATE case_events
   SET data = (jsonb_build_object(
                 'action', CASE to_state WHEN 'defined' THEN 'define' WHEN 'scoped' THEN 'scope'
                           WHEN 'escalated' THEN 'escalate' WHEN 'resolved' THEN 'resolve'
                           ELSE 'archive' END,
                 'imported', true)
               || jsonb_build_object(
                 CASE to_state WHEN 'defined' THEN 'definition' WHEN 'scoped' THEN 'scope'
                 WHEN 'escalated' THEN 'reason' WHEN 'resolved' THEN 'resolution'
                 ELSE 'summary' END,
                 note))::text
 WHERE CASE WHEN kind = 'transition' AND data IS NOT NULL
            THEN NOT (data::jsonb ? 'action') AND data::jsonb -> 'imported' = 'true'::jsonb
            ELSE false END
   AND to_state IN ('defined', 'scoped', 'escalated', 'resolved', 'archived');

-- delivery_failed: bounces kept {"original_message_ids": [...], "reason": r}, the outbox giving up
-- {"outbox_id": n, "message_id": m} with the reason only in the note ("<recipients> — <reason>").
-- One shape: {"message_ids": [...], "reason": r, "outbox_id": n | null}.
UPDATE case_events
   SET data = jsonb_build_object(
         'message_ids', data::jsonb -> 'original_message_ids',
         'reason', COALESCE(data::jsonb ->> 'reason', ''),
         'outbox_id', NULL)::text
 WHERE CASE WHEN kind = 'delivery_failed' AND data IS NOT NULL
            THEN jsonb_typeof(data::jsonb -> 'original_message_ids') = 'array'
            ELSE false END;
UPDATE case_events
   SET data = jsonb_build_object(
         'message_ids', jsonb_build_array(data::jsonb -> 'message_id'),
         'reason', CASE WHEN strpos(note, ' — ') > 0 THEN substr(note, strpos(note, ' — ') + 3)
                   ELSE COALESCE(note, '') END,
         'outbox_id', data::jsonb -> 'outbox_id')::text
 WHERE CASE WHEN kind = 'delivery_failed' AND data IS NOT NULL
            THEN jsonb_typeof(data::jsonb -> 'outbox_id') = 'number'
                 AND NOT (data::jsonb ? 'message_ids')
            ELSE false END;

-- merged: the merged-away case kept {"into", "messages_moved", "clocks_stopped"}, the target
-- {"from", "messages_moved"}. Both now keep the whole merge:
-- {"source", "target", "messages_moved", "clocks_stopped"}. The target's side first, while the
-- source's event still says how many clocks it stopped.
UPDATE case_events e
   SET data = jsonb_build_object(
         'source', e.data::jsonb -> 'from',
         'target', (SELECT c.number FROM cases c WHERE c.id = e.case_id),
         'messages_moved', COALESCE(e.data::jsonb -> 'messages_moved', '0'::jsonb),
         'clocks_stopped', COALESCE((
           SELECT s.data::jsonb -> 'clocks_stopped'
             FROM case_events s JOIN cases c ON c.id = s.case_id
            WHERE c.number = e.data::jsonb ->> 'from'
              AND CASE WHEN s.kind = 'merged' AND s.data IS NOT NULL
                       THEN jsonb_typeof(s.data::jsonb -> 'into') = 'string' ELSE false END
            ORDER BY s.id DESC LIMIT 1), '0'::jsonb))::text
 WHERE CASE WHEN e.kind = 'merged' AND e.data IS NOT NULL
            THEN jsonb_typeof(e.data::jsonb -> 'from') = 'string' ELSE false END;
UPDATE case_events e
   SET data = jsonb_build_object(
         'source', (SELECT c.number FROM cases c WHERE c.id = e.case_id),
         'target', e.data::jsonb -> 'into',
         'messages_moved', COALESCE(e.data::jsonb -> 'messages_moved', '0'::jsonb),
         'clocks_stopped', COALESCE(e.data::jsonb -> 'clocks_stopped', '0'::jsonb))::text
 WHERE CASE WHEN e.kind = 'merged' AND e.data IS NOT NULL
            THEN jsonb_typeof(e.data::jsonb -> 'into') = 'string' ELSE false END;
