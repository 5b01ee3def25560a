// placeholder: replaced by the crypto implementation
