SCOPE = "token_factory:model:delete"
