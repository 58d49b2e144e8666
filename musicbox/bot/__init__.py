"""The Discord side: client, cogs, views and every sentence a member reads."""
