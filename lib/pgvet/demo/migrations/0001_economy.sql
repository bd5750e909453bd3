CREATE TABLE "transactions" (
	"id" uuid PRIMARY KEY,
	"legacy_id" integer NOT NULL UNIQUE,
	"user_id" uuid NOT NULL REFERENCES "users"("id"),
	"amount" numeric(20, 8) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rain_events" (
	"id" uuid PRIMARY KEY,
	"host_user_id" uuid NOT NULL REFERENCES "users"("id"),
	"transaction_id" integer,
	"amount" numeric(20, 8) NOT NULL
);
--> statement-breakpoint
ALTER TABLE "rain_events" ADD CONSTRAINT "rain_events_transaction_id_transactions_id_fk" FOREIGN KEY ("transaction_id") REFERENCES "transactions"("id");
