Bgrad/projection/weightJ ÐS}»¬p‚;dLŒ»áhX»Àrx»e·	;å`	»Ú
‰»