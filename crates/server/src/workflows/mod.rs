//! Workflows: event-triggered automations whose executions and timers live in the store.
//! (Placeholder until the workflows work lands.)
