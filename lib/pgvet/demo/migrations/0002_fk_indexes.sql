CREATE INDEX CONCURRENTLY "posts_thread_id_idx" ON "posts" ("thread_id");
--> statement-breakpoint
CREATE INDEX "post_reactions_post_id_idx" ON "post_reactions" ("post_id");
--> statement-breakpoint
CREATE INDEX "posts_topic_id_idx" ON "posts" ("topic_id");
--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN "group_id";
