ℌOST = "example.com"
