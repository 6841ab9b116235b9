module portcullis/difftest

go 1.19
