CREATE TABLE "roles" ("id" uuid PRIMARY KEY, "name" text NOT NULL UNIQUE);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY,
	"username" text NOT NULL UNIQUE,
	"role_id" uuid NOT NULL REFERENCES "roles"("id"),
	"group_id" integer,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "badges" ("id" uuid PRIMARY KEY, "name" text NOT NULL);
--> statement-breakpoint
CREATE TABLE "forums" ("id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "name" text NOT NULL);
--> statement-breakpoint
CREATE TABLE "threads" (
	"id" serial PRIMARY KEY,
	"forum_id" bigint NOT NULL REFERENCES "forums"("id"),
	"author_id" uuid NOT NULL REFERENCES "users"("id"),
	"title" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "posts" (
	"id" uuid PRIMARY KEY,
	"thread_id" integer NOT NULL REFERENCES "threads"("id"),
	"author_id" uuid NOT NULL REFERENCES "users"("id"),
	"body" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "idx_posts_created_at" ON "posts" ("created_at");
