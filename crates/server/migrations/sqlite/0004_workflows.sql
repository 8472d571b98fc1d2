-- 0004_workflows (placeholder until its tables land)
SELECT 1;
