-- 0003_campaigns (placeholder until its tables land)
SELECT 1;
