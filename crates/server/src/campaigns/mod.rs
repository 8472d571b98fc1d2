//! Campaigns: one message to an audience, fanned out resumably.
//! (Placeholder until the campaigns work lands.)
