-- 0013_workflow_entries: the bound on workflow re-entry counts a contact's executions of a
-- workflow in a recent period, so the executions' index by workflow and contact gains their
-- creation time (it still serves every lookup the old one did: the two columns lead).
CREATE INDEX workflow_executions_entries ON workflow_executions (workflow_id, contact_id, created_at);
DROP INDEX workflow_executions_contact;
