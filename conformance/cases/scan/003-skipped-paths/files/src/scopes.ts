export const DELETE_SCOPE = "token_factory:model:delete";
