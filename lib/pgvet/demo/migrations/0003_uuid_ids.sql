ALTER TABLE "threads" ALTER COLUMN "id" SET DATA TYPE uuid USING gen_random_uuid();
--> statement-breakpoint
ALTER TABLE "posts" ALTER COLUMN "thread_id" SET DATA TYPE uuid USING gen_random_uuid();
